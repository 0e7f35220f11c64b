class ExpLayer:
    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = np.zeros_like(x)  # TODO
        return self.out

    def backward(self, dout):
        return np.zeros_like(dout)  # TODO
