class Plus:
    def forward(self, x, y):
        return x + y
    def backward(self, g):
        return g, g
