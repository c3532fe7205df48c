"""dockyard.core"""
