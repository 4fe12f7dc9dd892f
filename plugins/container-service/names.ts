import { randomInt } from 'node:crypto';
import { InvalidParameterError } from '../../kernel/index.js';

/** dockerd's container name rule: at least two characters, the first alphanumeric. */
const VALID_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Returns the canonical "/name" or throws dockerd's 400. */
export function canonicalName(name: string): string {
  if (!VALID_NAME.test(name)) {
    throw new InvalidParameterError(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return name.startsWith('/') ? name : `/${name}`;
}

// A short list in the spirit of moby's namesgenerator: adjective_surname of
// notable scientists and engineers. Collisions are retried by the caller.
const LEFT = [
  'admiring', 'adoring', 'affectionate', 'amazing', 'awesome', 'beautiful', 'blissful', 'bold', 'brave', 'busy',
  'charming', 'clever', 'compassionate', 'competent', 'confident', 'cool', 'cranky', 'crazy', 'dazzling', 'determined',
  'distracted', 'dreamy', 'eager', 'ecstatic', 'elastic', 'elated', 'elegant', 'eloquent', 'epic', 'exciting',
  'fervent', 'festive', 'flamboyant', 'focused', 'friendly', 'frosty', 'funny', 'gallant', 'gifted', 'goofy',
  'gracious', 'great', 'happy', 'hardcore', 'heuristic', 'hopeful', 'hungry', 'infallible', 'inspiring', 'intelligent',
  'interesting', 'jolly', 'jovial', 'keen', 'kind', 'laughing', 'loving', 'lucid', 'magical', 'modest',
  'musing', 'mystifying', 'naughty', 'nervous', 'nice', 'nifty', 'nostalgic', 'objective', 'optimistic', 'peaceful',
  'pedantic', 'pensive', 'practical', 'priceless', 'quirky', 'quizzical', 'relaxed', 'reverent', 'romantic', 'serene',
  'sharp', 'silly', 'sleepy', 'stoic', 'strange', 'stupefied', 'suspicious', 'sweet', 'tender', 'thirsty',
  'trusting', 'unruffled', 'upbeat', 'vibrant', 'vigilant', 'vigorous', 'wizardly', 'wonderful', 'xenodochial', 'youthful', 'zealous', 'zen',
];
const RIGHT = [
  'agnesi', 'albattani', 'allen', 'almeida', 'archimedes', 'ardinghelli', 'babbage', 'banach', 'bardeen', 'bartik',
  'bassi', 'bell', 'benz', 'bhabha', 'blackburn', 'blackwell', 'bohr', 'booth', 'borg', 'bose',
  'brahmagupta', 'brattain', 'brown', 'carson', 'cerf', 'chandrasekhar', 'clarke', 'colden', 'cori', 'cray',
  'curie', 'darwin', 'davinci', 'dijkstra', 'dubinsky', 'easley', 'einstein', 'elion', 'engelbart', 'euclid',
  'euler', 'fermat', 'fermi', 'feynman', 'franklin', 'galileo', 'gates', 'goldberg', 'goldstine', 'goodall',
  'hamilton', 'hawking', 'heisenberg', 'hermann', 'hertz', 'hodgkin', 'hofstadter', 'hopper', 'hypatia', 'jackson',
  'jennings', 'johnson', 'joliot', 'kalam', 'keller', 'kepler', 'khorana', 'kilby', 'knuth', 'kowalevski',
  'lalande', 'lamarr', 'leakey', 'leavitt', 'lovelace', 'lumiere', 'mahavira', 'mayer', 'mccarthy', 'mcclintock',
  'meitner', 'mendel', 'merkle', 'mirzakhani', 'morse', 'napier', 'newton', 'nobel', 'noether', 'pare',
  'pascal', 'pasteur', 'payne', 'perlman', 'pike', 'poincare', 'ptolemy', 'raman', 'ramanujan', 'ritchie',
  'rosalind', 'saha', 'sammet', 'shannon', 'shockley', 'sinoussi', 'snyder', 'swanson', 'tesla', 'thompson',
  'torvalds', 'turing', 'varahamihira', 'visvesvaraya', 'volhard', 'wescoff', 'wiles', 'williams', 'wilson', 'wing',
  'wozniak', 'wright', 'yalow', 'yonath',
];

/** A random "adjective_surname"; after a collision the caller asks again with `retry` > 0 for a digit suffix. */
export function generateName(retry = 0): string {
  let name = `${LEFT[randomInt(LEFT.length)]}_${RIGHT[randomInt(RIGHT.length)]}`;
  if (name === 'boring_wozniak') name = 'brave_wozniak'; // Steve Wozniak is not boring (moby's rule)
  return retry > 0 ? `${name}${randomInt(10)}` : name;
}
