class SoftmaxCrossEntropy:
    def forward(self, x, t):
        if t.ndim == 1:
            t = np.eye(x.shape[1])[t]
        self.t = t
        self.y = softmax(x)
        return cross_entropy_error(self.y, t)

    def backward(self, dout=1):
        return dout * (self.y - self.t) / len(self.y)
