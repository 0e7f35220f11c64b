"""Worked examples for the notebooks: small graphs built from the layer classes.

Each function's docstring becomes a markdown cell and its body a code cell the student
runs with their own layers. The body ends by returning the results a check compares
with the reference's numbers; in the notebook those are the variables the cell leaves behind.
"""
from .graph import AddLayer, DivLayer, MulLayer, SubLayer


def apples_and_oranges():
    r"""### Example: buying apples and oranges

    Two apples at 100 yen each and three oranges at 150 yen each, plus 10% consumption tax:
    $\text{price} = (100 \cdot 2 + 150 \cdot 3) \cdot 1.1 = 715$.

    Forward builds the graph from three multiplication nodes and one addition node; backward
    starts from $\frac{\partial\,\text{price}}{\partial\,\text{price}} = 1$ and walks the nodes in
    reverse order. Each gradient says how much the price moves per unit of that input: one more
    yen per apple adds 2.2 yen, one more apple adds 110 yen, and raising the tax factor by 1 adds 650 yen.
    """
    apple, apple_num = 100, 2
    orange, orange_num = 150, 3
    tax = 1.1

    mul_apple_layer = MulLayer()
    mul_orange_layer = MulLayer()
    add_apple_orange_layer = AddLayer()
    mul_tax_layer = MulLayer()

    # forward
    apple_price = mul_apple_layer.forward(apple, apple_num)
    orange_price = mul_orange_layer.forward(orange, orange_num)
    all_price = add_apple_orange_layer.forward(apple_price, orange_price)
    price = mul_tax_layer.forward(all_price, tax)

    # backward, in the reverse order
    dprice = 1
    dall_price, dtax = mul_tax_layer.backward(dprice)
    dapple_price, dorange_price = add_apple_orange_layer.backward(dall_price)
    dorange, dorange_num = mul_orange_layer.backward(dorange_price)
    dapple, dapple_num = mul_apple_layer.backward(dapple_price)

    print(f"price: {price:.2f}")
    print(f"dapple: {dapple:.2f}, dapple_num: {dapple_num:.2f}")
    print(f"dorange: {dorange:.2f}, dorange_num: {dorange_num:.2f}, dtax: {dtax:.2f}")
    return {"price": price, "dapple": dapple, "dapple_num": dapple_num,
            "dorange": dorange, "dorange_num": dorange_num, "dtax": dtax}


def fraction_graph():
    r"""### Example: a fraction

    $x = \dfrac{c \cdot d}{a - b}$ with $a = 1$, $b = 2$, $c = 3$, $d = 4$, so $x = -12$.

    The graph has a subtraction node for the denominator, a multiplication node for the
    numerator and a division node on top. Backward from $\frac{\partial x}{\partial x} = 1$ gives
    $\frac{\partial x}{\partial a} = -\frac{cd}{(a-b)^2} = -12$, $\frac{\partial x}{\partial b} = 12$,
    $\frac{\partial x}{\partial c} = \frac{d}{a-b} = -4$ and $\frac{\partial x}{\partial d} = \frac{c}{a-b} = -3$.
    """
    a, b, c, d = 1.0, 2.0, 3.0, 4.0

    sub_layer = SubLayer()
    mul_layer = MulLayer()
    div_layer = DivLayer()

    # forward
    denominator = sub_layer.forward(a, b)
    numerator = mul_layer.forward(c, d)
    x = div_layer.forward(numerator, denominator)

    # backward
    dx = 1.0
    dnumerator, ddenominator = div_layer.backward(dx)
    gc, gd = mul_layer.backward(dnumerator)
    ga, gb = sub_layer.backward(ddenominator)

    print(f"x: {x:g}")
    print(f"ga: {ga:g}, gb: {gb:g}, gc: {gc:g}, gd: {gd:g}")
    return {"x": x, "ga": ga, "gb": gb, "gc": gc, "gd": gd}
