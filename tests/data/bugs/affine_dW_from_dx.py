class Affine:
    def __init__(self, W, B):
        self.W = W
        self.B = B
        self.dW = None
        self.dB = None
    def forward(self, X):
        self.shape = X.shape
        self.X = X.reshape(X.shape[0], -1)
        return np.dot(self.X, self.W) + self.B
    def backward(self, dout):
        self.dB = np.sum(dout, axis=0)
        dX = np.dot(dout, self.W.T)
        self.dW = np.dot(dX.T, dout)
        return dX.reshape(self.shape)
