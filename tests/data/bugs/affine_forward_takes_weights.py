class Affine:
    def __init__(self, W, B):
        self.W = W
        self.B = B
        self.dW = None
        self.dB = None
    def forward(self, X, W, B):
        self.X = X
        self.W = W
        self.B = B
        return np.dot(X,W)+B
    def backward(self, dout):
        self.dB = np.sum(dout, axis=0)
        dX = np.dot(dout, self.W.T)
        self.dW = np.dot(self.X.T, dout)
        return dX
