class Affine:
    def __init__(self, W, b):
        self.W = W.astype(np.float32)   # float32 like on the GPU
        self.b = b.astype(np.float32)

    def forward(self, x):
        self.x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1).astype(np.float32)
        return self.x @ self.W + self.b

    def backward(self, dout):
        dout = dout.astype(np.float32)
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        return (dout @ self.W.T).reshape(self.x_shape)
