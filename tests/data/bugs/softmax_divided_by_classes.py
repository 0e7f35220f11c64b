class SoftmaxWithLoss:
    def forward(self, x, t):
        self.t = t
        self.y = softmax(x)
        return cross_entropy_error(self.y, t)

    def backward(self, dout=1):
        dx = self.y.copy()
        if self.t.ndim == 1:
            dx[np.arange(len(self.t)), self.t] -= 1
        else:
            dx -= self.t
        return dx * dout / self.y.shape[1]
