/** The page's explanatory text, written for a student: what each panel shows and each rule does. */

export const PANEL_TEXT: Record<string, string> = {
  input:
    'A small CNN was trained on 8×8 handwritten digits (each pixel counts the ink in a 4×4 block of a 32×32 drawing). Pick a held-out digit or draw one: your drawing is turned into block counts the same way. The bars are the network\'s output scores (logits); LRP explains the highest one.',
  tape:
    'While the network runs, the tape records every layer in order. A <em>composite</em> then gives each layer an LRP rule: it tries its name map, then its first-layer map, then its layer-type map, and the first entry that matches wins. Select a layer to see its shapes, its rule, the entry that matched and how much relevance passed through it.',
  story:
    'LRP starts with the explained score as the total relevance <i>R</i> at the output and hands it backwards, layer by layer, to the inputs that contributed: <i>R<sub>i</sub></i> = Σ<sub>j</sub> (<i>z<sub>ij</sub></i> / <i>z<sub>j</sub></i>) <i>R<sub>j</sub></i>, with <i>z<sub>ij</sub></i> = <i>x<sub>i</sub> w<sub>ij</sub></i>. If every layer passes on what it received, the total is <em>conserved</em>; the ledger shows where a bias or a stabiliser keeps some of it. Step with the buttons (or Tab to them and press Enter).',
  rules:
    'Two composites side by side on the same input. Edit a parameter and both the heatmap and the ledger are recomputed at once. A value that makes no sense is refused next to its field, and the last good explanation stays.',
  canon:
    'A batch norm after a conv is an affine map per channel, so it can be folded into the conv: <i>w</i>′ = <i>w</i>·γ/σ, <i>b</i>′ = (<i>b</i> − μ)·γ/σ + β. The network computes the same numbers (logits and plain gradients agree), but the LRP rule now sees the merged layer, so the relevance can change. The merge is a view: the model\'s own weights are untouched (same fingerprint).',
  egl:
    'Explanation-guided learning: a CNN trained on shapes learned to read a coloured corner patch that gives the class away. Each step adds λ × (share of |relevance| on the patch) to the loss and differentiates through the LRP backward itself (the double backward), so the heatmap moves off the patch while the loss goes down.',
};

export const RULE_TEXT: Record<string, string> = {
  Epsilon: 'Epsilon rule: R_i = Σ_j x_i w_ij / (z_j + ε·sign(z_j)) · R_j. A small ε absorbs weak or contradictory contributions.',
  ZPlus: 'z⁺ rule: only positive contributions count, R_i = Σ_j x_i w⁺_ij / Σ_i x_i w⁺_ij · R_j.',
  AlphaBeta: 'αβ rule: R_i = Σ_j (α z⁺_ij / z⁺_j − β z⁻_ij / z⁻_j) R_j with α − β = 1, so the total is kept.',
  Gamma: 'γ rule: w → w + γ·w⁺ favours positive contributions; γ = 0 is the plain LRP-0 rule.',
  ZBox: 'z^B rule for the first layer: uses the input range [low, high] so relevance also flows to pixels that are 0.',
  Flat: 'Flat rule: spreads relevance evenly over the receptive field (weights and inputs set to 1).',
  Pass: 'Pass rule: relevance goes through unchanged (used for activations like ReLU).',
  Norm: 'Norm rule: splits relevance in proportion to each input\'s share of the sum.',
  gradient: 'No rule: the plain gradient is passed (fine for layers that only move values, like pooling\'s choice or a reshape).',
  epsilon_gamma_box: 'ZBox on the first conv, Gamma on the other convs, Epsilon on dense layers.',
  epsilon_plus: 'z⁺ on convs, Epsilon on dense layers.',
  epsilon_plus_flat: 'Flat on the first layer, z⁺ on convs, Epsilon on dense layers.',
  epsilon_alpha2_beta1: 'αβ on convs (edit α and β; α − β must be 1), Epsilon on dense layers.',
  epsilon_alpha2_beta1_flat: 'Flat on the first layer, αβ on convs, Epsilon on dense layers.',
  deconvnet: 'DeconvNet: ReLUs pass only positive relevance backwards, ignoring the forward mask. Not conservative.',
  guided_backprop: 'Guided backprop: the gradient, with ReLUs also dropping negative backward signal. Not conservative.',
  excitation_backprop: 'Excitation backprop: z⁺ on every linear layer (a probabilistic winner-take-all).',
  beta_smooth: 'β-smooth: ReLU gradients replaced by sigmoid(β x): a smoothed gradient, not LRP.',
};
