class Sigmoid:
    def __init__(self):
        self.out = None

    def forward(self, x):
        # sigmoid(x) = (1 + tanh(x / 2)) / 2, no overflow for large |x|
        self.out = 0.5 * (1.0 + np.tanh(0.5 * x))
        return self.out

    def backward(self, dout):
        return dout * self.out * (1.0 - self.out)
