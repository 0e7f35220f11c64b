class AddLayer:
    def __init__(self):
        self.shape = None

    def forward(self, x, y):
        self.shape = np.shape(x)
        return np.add(x, y)

    def backward(self, dout):
        dx = np.ones(self.shape) * dout
        dy = np.ones(self.shape) * dout
        return dx, dy
