class Affine:
    def __init__(self, w, b):
        self.w ,self.b = w, b
        self.gw, self.gb = 0, 0
    def forward(self, X):
        self.X = X
        return np.dot(X, self.w) + self.b
    def backward(self, g):
        self.gw += np.dot(self.X.T, g)
        self.gb += g.sum(0)
        return np.dot(g, self.w.T)
