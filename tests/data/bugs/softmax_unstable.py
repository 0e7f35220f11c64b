class SoftmaxWithLoss:
    def forward(self, x, t):
        self.t = t
        e = np.exp(x)
        self.y = e / np.sum(e, axis=1, keepdims=True)
        return cross_entropy_error(self.y, t)

    def backward(self, dout=1):
        n = self.y.shape[0]
        dx = self.y.copy()
        if self.t.ndim == 1:
            dx[np.arange(n), self.t] -= 1
        else:
            dx -= self.t
        return dout * dx / n
