import json


# return the sum of the squares of xs
def total(xs):
    result = 0
    for x in xs:
        result += x * x
    return result


def main():
    values = [1, 2, 3]
