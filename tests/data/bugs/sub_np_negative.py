class SubLayer:
    def __init__(self):
        pass

    def forward(self, x, y):
        out = np.subtract(x, y)
        return out

    def backward(self, dout):
        dx = dout.copy() if isinstance(dout, np.ndarray) else dout
        dy = np.negative(dout)
        return dx, dy
