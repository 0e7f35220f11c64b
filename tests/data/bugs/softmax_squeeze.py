class SoftmaxWithLoss:
    def __init__(self):
        self.loss = None
        self.y = None
        self.t = None

    def forward(self, x, t):
        x = np.squeeze(x)   # (N, C) -> drop the useless axes
        self.t = t
        self.y = softmax(x)
        self.loss = cross_entropy_error(self.y, self.t)
        return self.loss

    def backward(self, dout=1):
        batch_size = self.t.shape[0]
        dx = self.y.copy()
        if self.t.size == self.y.size:
            dx = dx - self.t
        else:
            dx[np.arange(batch_size), self.t] -= 1
        return dx / batch_size
