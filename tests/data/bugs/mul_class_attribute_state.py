class MulLayer:
    x = None
    y = None

    def forward(self, x, y):
        MulLayer.x = x
        MulLayer.y = y
        return x * y

    def backward(self, dout):
        dx = dout * MulLayer.y
        dy = dout * MulLayer.x
        return dx, dy
