class Ln:
    def forward(self, x):
        self.x = x
        return np.log(x)
    def backward(self, g):
        return g / self.x
