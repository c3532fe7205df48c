"""dockyard.engine"""
