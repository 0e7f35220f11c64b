class DivLayer:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x / y

    def backward(self, dout):
        dx = dout / self.y
        dy = dout * self.x / self.y ** 2
        return dx, dy
