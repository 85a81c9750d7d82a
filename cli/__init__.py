"""coopledger.cli"""
def main() -> None: print("hi")
