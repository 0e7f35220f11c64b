class Affine:
    def __init__(self, W, b):
        self.params = {'W': W, 'b': b}
        self.grads = {}

    @property
    def dW(self):
        return self.grads.get('W')

    @property
    def db(self):
        return self.grads.get('b')

    def forward(self, x):
        self.shape = x.shape
        self.x = x.reshape(len(x), -1)
        return self.x @ self.params['W'] + self.params['b']

    def backward(self, dout):
        self.grads['W'] = self.x.T @ dout
        self.grads['b'] = dout.sum(axis=0)
        return (dout @ self.params['W'].T).reshape(self.shape)
