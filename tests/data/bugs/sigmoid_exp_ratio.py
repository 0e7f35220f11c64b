class Sigmoid:
    def __init__(self):
        self.out = None

    def forward(self, x):
        e = np.exp(x)
        self.out = e / (1 + e)
        return self.out

    def backward(self, dout):
        return dout * self.out * (1 - self.out)
