//! Regions and their hosts.
