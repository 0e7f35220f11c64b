class DivLayer:
    def forward(self, x, y):
        out = x / y
        return out

    def backward(self, dout):
        dx = dout / self.y
        dy = -dout * self.x / self.y ** 2
        return dx, dy
