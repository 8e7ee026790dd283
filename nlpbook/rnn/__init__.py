"""Part II: recurrent networks (RNN, GRU, LSTM, gradient clipping). Import the modules directly."""
