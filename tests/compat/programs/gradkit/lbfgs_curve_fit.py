# Fitting a small network to a curve with L-BFGS and a closure, as PyTorch's "time sequence
# prediction" example trains its model (optim.LBFGS, line search). The initial weights come from
# a seeded NumPy generator, so both frameworks start from the same point.
import json

import numpy as np
import gradkit as torch
import gradkit.nn as nn
import gradkit.optim as optim

rng = np.random.default_rng(0)
x = torch.tensor(np.linspace(-2, 2, 200).reshape(-1, 1))
y = torch.tensor(np.sin(3 * np.linspace(-2, 2, 200)).reshape(-1, 1))

model = nn.Sequential(nn.Linear(1, 20), nn.Tanh(), nn.Linear(20, 1)).double()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(rng.normal(0, 0.7, tuple(p.shape))))

criterion = nn.MSELoss()
optimizer = optim.LBFGS(model.parameters(), lr=0.8, line_search_fn="strong_wolfe")
for i in range(8):
    def closure():
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        return loss
    loss = optimizer.step(closure)
    print('step', i, 'loss: %.6f' % loss.item())
final = criterion(model(x), y).item()
print(json.dumps({"loss": final}))
