class LinearScalar:
    def __init__(self, w, b):
        self.w, self.b = w, b
        self.dw = self.db = None

    def forward(self, x):
        self.x = x
        return x * self.w + self.b

    def backward(self, dout=1.0):
        self.dw = self.x * dout
        self.db = dout
        dx = self.w * dout
        return dx
