class Tanh:
    def forward(self, x):
        self.x = x
        return np.tanh(x)

    def backward(self, dout):
        # the derivative the safe way: central differences
        h = 1e-4
        x = self.x
        grad = np.zeros(x.shape)
        for i in np.ndindex(x.shape):
            xp = np.array(x, dtype=float)
            xm = np.array(x, dtype=float)
            xp[i] += h
            xm[i] -= h
            grad[i] = (self.forward(xp)[i] - self.forward(xm)[i]) / (2 * h)
        self.forward(x)
        return dout * grad
