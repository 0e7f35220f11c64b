class Divind:
    def forward(self, x, y):
        self.x = x
        self.y = y
        return x / y
    def backward(self, g):
        return (g/self.y),  (- g * self.y / self.y ** 2)
