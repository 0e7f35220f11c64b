class Affine:
    def __init__(self, W, b, cache={}):
        self.W = W
        self.b = b
        self.cache = cache   # forward's values for backward

    def forward(self, x):
        self.cache['shape'] = x.shape
        self.cache['x'] = x.reshape(x.shape[0], -1)
        return np.dot(self.cache['x'], self.W) + self.b

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.cache['x'].T, dout)
        self.db = np.sum(dout, axis=0)
        return dx.reshape(self.cache['shape'])
