mask = None

class Relu:
    def forward(self, x):
        global mask
        mask = (x <= 0)
        out = x.copy()
        out[mask] = 0
        return out

    def backward(self, dout):
        dout[mask] = 0
        dx = dout
        return dx
