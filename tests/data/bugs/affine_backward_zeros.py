class Affine:
    def __init__(self, W, b):
        self.W = W
        self.b = b
        self.dW = np.zeros_like(W)
        self.db = np.zeros_like(b)

    def forward(self, x):
        self.x = x
        return np.dot(x.reshape(x.shape[0], -1), self.W) + self.b

    def backward(self, dout):
        # TODO
        dx = np.zeros_like(self.x)
        return dx
