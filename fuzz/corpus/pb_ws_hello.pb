

e30.e30.sig