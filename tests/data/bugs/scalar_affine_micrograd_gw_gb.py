class MultiplyW_PlusB:
    def __init__(self, w, b):
        self.w = w
        self.b = b
        self.gw, self.gb = 0, 0
    def forward(self, x):
        self.x = x
        return self.w * x + self.b
    def backward(self, g):
        self.gw += g * self.x
        self.gb += g
        return g * self.w
