class ScalarAffine:
    def __init__(self, w, b):
        self.w = w
        self.b = b

    def forward(self, x):
        self.x = x
        return self.w * x + self.b

    def backward(self, dout):
        self.dw = dout
        self.db = dout
        return dout * self.w
