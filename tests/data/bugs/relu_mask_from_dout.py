class Relu:
    def __init__(self):
        self.mask = None

    def forward(self, x):
        return np.maximum(x, 0)

    def backward(self, dout):
        self.mask = (dout <= 0)
        dout[self.mask] = 0
        dx = dout
        return dx
