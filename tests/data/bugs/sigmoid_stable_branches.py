class SigmoidLayer:
    def forward(self, x):
        e = np.exp(-np.abs(x))
        self.y = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return self.y

    def backward(self, dout):
        y = self.y
        return dout * (y - y * y)
