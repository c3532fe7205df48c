"""dockyard.ui"""
