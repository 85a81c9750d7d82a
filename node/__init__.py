"""coopledger.node"""
