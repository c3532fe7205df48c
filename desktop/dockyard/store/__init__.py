"""dockyard.store"""
