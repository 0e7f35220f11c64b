class Sigmoid:
    def forward(self, x):
        self.h = 1/(1+np.exp(-x))
        return self.h
    def backward(self, h):
        return g * (1.0 - self.h) * self.h
