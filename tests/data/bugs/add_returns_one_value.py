class AddLayer:
    def forward(self, x, y):
        return x + y

    def backward(self, dout):
        return dout
