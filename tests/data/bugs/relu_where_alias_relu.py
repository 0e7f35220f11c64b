class ReLu:
    def forward(self, x):
        self.filter = x > 0
        return np.where(self.filter, x, 0)  # np.where(cond, if true, if false)
    def backward(self, g):
        return np.where(self.filter, g, 0)
