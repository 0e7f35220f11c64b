class Relu:
    def forward(self, x):
        self.mask = x > 0
        return np.maximum(0, x)

    def backward(self, dout):
        return np.where(self.mask, 0, dout)
