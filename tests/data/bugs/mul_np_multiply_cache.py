class MulLayer:
    """z = x * y"""
    def __init__(self):
        self.cache = None

    def forward(self, x, y):
        self.cache = (x, y)
        return np.multiply(x, y)

    def backward(self, dout):
        x, y = self.cache
        dx = np.multiply(dout, y)
        dy = np.multiply(dout, x)
        return dx, dy
