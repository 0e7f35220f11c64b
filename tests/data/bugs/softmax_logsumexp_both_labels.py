class SoftmaxWithLoss:
    def __init__(self):
        self.p = None
        self.t = None

    def forward(self, x, t):
        if t.ndim == 2:            # one-hot rows -> class indices
            t = t.argmax(axis=1)
        self.t = t
        z = x - x.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))   # log-sum-exp
        self.p = np.exp(log_p)
        return cross_entropy_error(self.p, t)

    def backward(self, dout=1):
        n = self.p.shape[0]
        dx = self.p.copy()
        dx[np.arange(n), self.t] -= 1
        return dout * dx / n
