/**
 * The two frameworks an audit report's sections are mapped to: the headings of a model card
 * (Mitchell et al., "Model Cards for Model Reporting", FAT* 2019) and the points of Annex IV
 * of the EU AI Act (Regulation (EU) 2024/1689, technical documentation referred to in
 * Article 11(1)). The Annex IV summaries below are short paraphrases of the Official Journal
 * text (checked against the consolidated text as published at aiact.annotated.nl and
 * luxgap.com); a report names the points, it does not restate the law.
 *
 * Pure data: the verifier and the renderers read it as well as the report builder.
 */

export const MODEL_CARD_SOURCE = 'Mitchell et al., "Model Cards for Model Reporting", FAT* 2019 (arXiv:1810.03993)';
export const ANNEX_IV_SOURCE = 'Regulation (EU) 2024/1689 (AI Act), Annex IV: technical documentation referred to in Article 11(1)';

export const MODEL_CARD_HEADINGS = [
  'Model Details',
  'Intended Use',
  'Factors',
  'Metrics',
  'Evaluation Data',
  'Training Data',
  'Quantitative Analyses',
  'Ethical Considerations',
  'Caveats and Recommendations',
] as const;
export type ModelCardHeading = (typeof MODEL_CARD_HEADINGS)[number];

/** Annex IV points with a one-line summary each. Point 2 has (a) to (h) in the adopted text. */
export const ANNEX_IV_POINTS = {
  '1(a)': 'General description: intended purpose, name of the provider, version of the system reflecting its relation to previous versions',
  '1(b)': 'General description: how the system interacts with hardware or software, including other AI systems, not part of it',
  '1(c)': 'General description: versions of relevant software or firmware, and requirements related to version updates',
  '1(d)': 'General description: all forms in which the system is placed on the market or put into service (software packages, downloads, APIs)',
  '1(e)': 'General description: the hardware on which the system is intended to run',
  '1(f)': 'General description: where the system is a component of products, photographs or illustrations of those products',
  '1(g)': 'General description: a basic description of the user interface provided to the deployer',
  '1(h)': 'General description: instructions for use for the deployer',
  '2(a)': 'Development: the methods and steps performed for the development of the system, including recourse to pre-trained systems or third-party tools',
  '2(b)': 'Development: design specifications, general logic, key design choices and assumptions, what the system is designed to optimise for and the relevance of the different parameters, expected output',
  '2(c)': 'Development: system architecture, and the computational resources used to develop, train, test and validate the system',
  '2(d)': 'Development: data requirements in terms of datasheets: training methodologies and the training data sets, their provenance, scope and main characteristics, how the data was obtained and selected, labelling, data cleaning methodologies',
  '2(e)': 'Development: assessment of the human oversight measures needed in accordance with Article 14',
  '2(f)': 'Development: where applicable, pre-determined changes to the system and its performance',
  '2(g)': 'Development: validation and testing procedures, the validation and testing data and their main characteristics, metrics used to measure accuracy and robustness, test logs and test reports dated and signed by the responsible persons',
  '2(h)': 'Development: cybersecurity measures put in place',
  '3': 'Monitoring, functioning and control: capabilities and limitations in performance (degrees of accuracy), foreseeable unintended outcomes and sources of risk, human oversight measures, specifications on input data',
  '4': 'A description of the appropriateness of the performance metrics for the specific system',
  '5': 'A detailed description of the risk management system in accordance with Article 9',
  '6': 'A description of relevant changes made by the provider to the system through its lifecycle',
  '7': 'A list of the harmonised standards applied, or the solutions adopted to meet the requirements of Chapter III, Section 2',
  '8': 'A copy of the EU declaration of conformity referred to in Article 47',
  '9': 'A detailed description of the system in place to evaluate the system performance in the post-market phase in accordance with Article 72, including the post-market monitoring plan',
} as const;
export type AnnexIvPoint = keyof typeof ANNEX_IV_POINTS;

/** The points in the order of the Annex (an object lists integer-like keys such as '3' first). */
export const ANNEX_IV_ORDER: ReadonlyArray<AnnexIvPoint> = ['1(a)', '1(b)', '1(c)', '1(d)', '1(e)', '1(f)', '1(g)', '1(h)', '2(a)', '2(b)', '2(c)', '2(d)', '2(e)', '2(f)', '2(g)', '2(h)', '3', '4', '5', '6', '7', '8', '9'];
