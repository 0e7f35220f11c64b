class Affine:
    """Gradients accumulate with +=, and every forward starts them from zero."""
    def __init__(self, W, b):
        self.W = W
        self.b = b

    def forward(self, x):
        self.x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        return self.x @ self.W + self.b

    def backward(self, dout):
        self.dW += self.x.T @ dout
        self.db += dout.sum(axis=0)
        return (dout @ self.W.T).reshape(self.x_shape)
