class Dense:
    def __init__(self, w, b):
        self.w, self.b = w, b
        self.gw, self.gb = None, None

    def forward(self, X):
        self.in_shape = X.shape
        self.X = X.reshape(X.shape[0], np.prod(X.shape[1:]))
        return self.X @ self.w + self.b

    def backward(self, g):
        self.gw = self.X.T @ g
        self.gb = g.sum(axis=0)
        return (g @ self.w.T).reshape(self.in_shape)
