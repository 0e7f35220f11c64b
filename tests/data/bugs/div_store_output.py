class DivLayer:
    def __init__(self):
        self.y = None
        self.out = None

    def forward(self, x, y):
        self.y = y
        self.out = x / y
        return self.out

    def backward(self, dout):
        dx = dout / self.y
        dy = -dout * self.out / self.y   # x / y**2 == out / y
        return dx, dy
