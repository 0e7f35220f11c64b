class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.shape = x.shape
        self.x2 = x.reshape(len(x), -1)
        return np.einsum("nd,dm->nm", self.x2, self.W) + self.b

    def backward(self, dout):
        self.dW = np.einsum("nd,nm->dm", self.x2, dout)
        self.db = np.einsum("nm->m", dout)
        dx = np.einsum("nm,dm->nd", dout, self.W)
        return dx.reshape(self.shape)
